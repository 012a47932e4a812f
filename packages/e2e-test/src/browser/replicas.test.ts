import { startDevIdpUnderTest } from '../__testUtils__/IdpUnderTest';
import { describeReplicaStories } from '../__testUtils__/replicaStories';

jest.setTimeout(240_000);

describeReplicaStories(startDevIdpUnderTest);
