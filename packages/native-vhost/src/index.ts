/**
 * @packageDocumentation
 * What a vhost-user back-end needs and Node lacks, as a small N-API addon built from source at install:
 * fd passing with SCM_RIGHTS on AF_UNIX sockets, mmap of a received fd into an ArrayBuffer, eventfds,
 * and fd watches on the event loop. Importing the package never loads the addon; `loadNative()` does,
 * and throws one clear error when it was not built.
 */
export type { ReceivedMessage } from './binding.js';
export { ERR_NATIVE_ADDON_NOT_BUILT, NativeAddonMissingError, NativeError } from './errors.js';
export { loadNative, nativeStatus, type LoadNativeOptions, type NativeStatus } from './load-native.js';
export {
  DEFAULT_BACKLOG,
  DEFAULT_SOCKET_MODE,
  MAX_FDS_PER_MESSAGE,
  NativeVhost,
  type ListenOptions,
} from './native-vhost.js';
export { POLL_DISCONNECT, POLL_READABLE, POLL_WRITABLE, type WatchCallback } from './poll-events.js';
