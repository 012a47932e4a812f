import { startDevIdpUnderTest } from '../__testUtils__/IdpUnderTest';
import { describeOneBackendStories } from '../__testUtils__/oneBackendStories';

jest.setTimeout(180_000);

describeOneBackendStories(startDevIdpUnderTest);
