import { startDevIdpUnderTest } from '../fixtures/IdpUnderTest';
import { describeOneBackendStories } from '../fixtures/oneBackendStories';

jest.setTimeout(180_000);

describeOneBackendStories(startDevIdpUnderTest);
