import { startDevIdpUnderTest } from '../fixtures/IdpUnderTest';
import { describeReplicaStories } from '../fixtures/replicaStories';

jest.setTimeout(240_000);

describeReplicaStories(startDevIdpUnderTest);
