import type { NativeError } from './errors.js';

/** `watch()` event: the fd is readable (UV_READABLE, EPOLLIN). */
export const POLL_READABLE = 1;
/** `watch()` event: the fd is writable (UV_WRITABLE, EPOLLOUT). */
export const POLL_WRITABLE = 2;
/** `watch()` event: the peer shut down its writing side (UV_DISCONNECT, EPOLLRDHUP). */
export const POLL_DISCONNECT = 4;

/**
 * Called on the main event loop when a watched fd is ready. `error` is set when libuv reports a
 * failure on the fd (then `events` is 0). An exception it throws becomes the process's
 * `uncaughtException`, like any other callback; it never unwinds into the addon.
 */
export type WatchCallback = (error: NativeError | undefined, events: number) => void;
