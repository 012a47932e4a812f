// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const MAX_LENGTH = 200;

/**
 * A value from outside (a token claim, Keycloak's error_description, a
 * query parameter) made safe to put in a log message: control characters
 * escaped, so a newline in a validly signed `sub` cannot forge a line in
 * the text log format, and long values cut. Structured log fields keep the
 * raw value; only messages need this.
 */
export function logText(value: unknown): string {
  const text = String(value).replace(
    CONTROL_CHARACTERS,
    c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return text.length > MAX_LENGTH ? `${text.slice(0, MAX_LENGTH)}…` : text;
}
