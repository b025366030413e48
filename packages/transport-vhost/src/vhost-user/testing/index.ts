/** Fakes of the vhost-user layer for tests (meant for the package's `./testing` entry). */
export {
  FakeVhostUserBackend,
  type FakeBackendCall,
  type FakeVhostUserBackendOptions,
} from './fake-backend.js';
