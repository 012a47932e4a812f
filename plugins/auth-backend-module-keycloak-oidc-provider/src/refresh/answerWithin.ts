/**
 * Settles like `work`, but rejects with `late()` once `ms` have passed
 * first; `work` goes on regardless, and `onLateFailure` hears how it ended
 * if it failed after the caller stopped waiting.
 */
export async function answerWithin<T>(
  work: Promise<T>,
  ms: number,
  late: () => Error,
  onLateFailure: (error: unknown) => void,
): Promise<T> {
  let timedOut = false;
  work.catch(error => {
    if (timedOut) onLateFailure(error);
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(late());
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
