// @vdpa-kit/native-vhost: the few syscalls a vhost-user back-end needs and Node lacks — SCM_RIGHTS fd
// passing on AF_UNIX sockets (unix(7), cmsg(3)), mmap of a received fd, eventfd(2), and uv_poll
// watches on the main event loop. Plain N-API (version 8), no V8 API, so the binary is ABI-stable.
//
// Every function throws an error built by the class registered with configure() (the TypeScript
// NativeError) with the errno name as `code` and the failing syscall as `syscall`.
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

// SCM_MAX_FD in include/net/scm.h: the kernel refuses more fds in one SCM_RIGHTS message.
#define MAX_SCM_FDS 253
// A safe integer in a JS number (2^53 - 1).
#define MAX_SAFE_INTEGER 9007199254740991.0

typedef struct instance_s instance_t;

// One uv_poll watch; at most one per fd and per JS environment.
typedef struct watch_s {
  struct watch_s* next;
  instance_t* inst;
  uv_poll_t poll;
  int fd;
  napi_ref callback;
  napi_async_context async;
} watch_t;

// Per-environment state (the main thread and every worker that loads the addon have their own).
struct instance_s {
  napi_env env;
  napi_ref error_class;
  watch_t* watches;
  // buffer.constants.MAX_LENGTH of this Node (2^32 on Node 20): mmap() refuses longer mappings up front.
  double max_buffer_length;
};

#define DEFAULT_MAX_BUFFER_LENGTH 4294967296.0

// One mmap'ed region behind an external ArrayBuffer. Kept in a process-wide list (mappings may be made
// and released from any worker) so that munmap() can find it from the ArrayBuffer's data pointer.
typedef struct mapping_s {
  struct mapping_s* next;
  void* addr;
  size_t length;
  int released;
} mapping_t;

static pthread_mutex_t mappings_lock = PTHREAD_MUTEX_INITIALIZER;
static mapping_t* mappings = NULL;

// ---------------------------------------------------------------------------------------------------
// Errors

static instance_t* instance_of(napi_env env) {
  void* data = NULL;
  napi_get_instance_data(env, &data);
  return (instance_t*)data;
}

static napi_value make_error(napi_env env, const char* code, const char* syscall, int errnum,
                             const char* message) {
  napi_value argv[4], ctor, err = NULL;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &argv[0]);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &argv[1]);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &argv[2]);
  napi_create_int32(env, errnum, &argv[3]);
  instance_t* inst = instance_of(env);
  if (inst != NULL && inst->error_class != NULL &&
      napi_get_reference_value(env, inst->error_class, &ctor) == napi_ok && ctor != NULL &&
      napi_new_instance(env, ctor, 4, argv, &err) == napi_ok) {
    return err;
  }
  // No class registered (or its constructor threw): a plain Error with the same fields.
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
  napi_create_error(env, argv[1], argv[0], &err);
  napi_set_named_property(env, err, "syscall", argv[2]);
  napi_set_named_property(env, err, "errno", argv[3]);
  return err;
}

static const char* errno_name(int errnum) {
  const char* name = strerrorname_np(errnum);
  return name != NULL ? name : "EUNKNOWN";
}

// Throws `<syscall> <detail>: <strerror>` with code = the errno name. Returns NULL for the caller.
static napi_value throw_errno(napi_env env, const char* syscall, int errnum, const char* detail) {
  char message[512];
  const char* text = strerror(errnum);
  snprintf(message, sizeof message, "%s%s%s: %c%s", syscall, detail[0] ? " " : "", detail,
           text[0] >= 'A' && text[0] <= 'Z' ? text[0] - 'A' + 'a' : text[0], text + 1);
  napi_throw(env, make_error(env, errno_name(errnum), syscall, errnum, message));
  return NULL;
}

static napi_value throw_fd_errno(napi_env env, const char* syscall, int errnum, int fd) {
  char detail[32];
  snprintf(detail, sizeof detail, "on fd %d", fd);
  return throw_errno(env, syscall, errnum, detail);
}

static napi_value throw_type(napi_env env, const char* message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

static napi_value throw_range(napi_env env, const char* message) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
  return NULL;
}

// ---------------------------------------------------------------------------------------------------
// Argument helpers

#define GET_ARGS(n)                                                      \
  size_t argc = (n);                                                     \
  napi_value argv[(n) > 0 ? (n) : 1];                                    \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) { \
    return NULL;                                                         \
  }

// A non-negative integer number no larger than `max`.
static bool get_uint(napi_env env, napi_value value, double max, const char* what, double* out) {
  napi_valuetype type;
  double d;
  char message[128];
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number) {
    snprintf(message, sizeof message, "%s must be a number", what);
    throw_type(env, message);
    return false;
  }
  napi_get_value_double(env, value, &d);
  if (!(d >= 0 && d <= max) || d != (double)(uint64_t)d) {
    snprintf(message, sizeof message, "%s %.17g is not an integer in [0, %.0f]", what, d, max);
    throw_range(env, message);
    return false;
  }
  *out = d;
  return true;
}

static bool get_fd(napi_env env, napi_value value, int* fd) {
  double d;
  if (!get_uint(env, value, (double)INT32_MAX, "fd", &d)) return false;
  *fd = (int)d;
  return true;
}

// A u64 from a bigint (lossless) or a safe-integer number.
static bool get_u64(napi_env env, napi_value value, const char* what, uint64_t* out) {
  napi_valuetype type;
  char message[128];
  napi_typeof(env, value, &type);
  if (type == napi_bigint) {
    bool lossless = false;
    napi_get_value_bigint_uint64(env, value, out, &lossless);
    if (!lossless) {
      snprintf(message, sizeof message, "%s is not a u64", what);
      throw_range(env, message);
      return false;
    }
    return true;
  }
  double d;
  if (!get_uint(env, value, MAX_SAFE_INTEGER, what, &d)) return false;
  *out = (uint64_t)d;
  return true;
}

static bool get_string(napi_env env, napi_value value, char* buf, size_t size, const char* what) {
  size_t len = 0;
  char message[128];
  if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) {
    snprintf(message, sizeof message, "%s must be a string", what);
    throw_type(env, message);
    return false;
  }
  if (len + 1 > size) {
    snprintf(message, sizeof message, "%s is %zu bytes long, at most %zu fit", what, len, size - 1);
    throw_range(env, message);
    return false;
  }
  napi_get_value_string_utf8(env, value, buf, size, &len);
  if (strlen(buf) != len) {
    snprintf(message, sizeof message, "%s contains a NUL byte", what);
    throw_range(env, message);
    return false;
  }
  return true;
}

static napi_value make_int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

static napi_value make_null(napi_env env) {
  napi_value out;
  napi_get_null(env, &out);
  return out;
}

static napi_value make_bool(napi_env env, bool v) {
  napi_value out;
  napi_get_boolean(env, v, &out);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// configure(errorClass, maxBufferLength): the constructor (message, code, syscall, errno) used for every
// error, and buffer.constants.MAX_LENGTH, the longest ArrayBuffer Node makes from external memory.

static napi_value configure(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  napi_valuetype type;
  double max_length;
  napi_typeof(env, argv[0], &type);
  if (type != napi_function) return throw_type(env, "the error class must be a constructor");
  if (!get_uint(env, argv[1], MAX_SAFE_INTEGER, "maxBufferLength", &max_length)) return NULL;
  instance_t* inst = instance_of(env);
  if (inst == NULL) return throw_type(env, "the addon's environment is shutting down");
  if (inst->error_class != NULL) napi_delete_reference(env, inst->error_class);
  napi_create_reference(env, argv[0], 1, &inst->error_class);
  inst->max_buffer_length = max_length;
  return NULL;
}

// ---------------------------------------------------------------------------------------------------
// Unix sockets (unix(7)). Every fd handed out is O_NONBLOCK and O_CLOEXEC.

static bool fill_sockaddr(napi_env env, napi_value value, struct sockaddr_un* addr) {
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  return get_string(env, value, addr->sun_path, sizeof addr->sun_path, "socket path");
}

// unixListen(path, mode, backlog) -> fd
static napi_value unix_listen(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  struct sockaddr_un addr;
  double mode, backlog;
  if (!fill_sockaddr(env, argv[0], &addr) || !get_uint(env, argv[1], 07777, "mode", &mode) ||
      !get_uint(env, argv[2], INT32_MAX, "backlog", &backlog)) {
    return NULL;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno, "");
  // unix_bind() creates the node with the socket inode's mode less the umask: set it before bind so the
  // path is never more open than asked, then chmod to the exact mode.
  if (fchmod(fd, (mode_t)mode) < 0) {
    int err = errno;
    close(fd);
    return throw_fd_errno(env, "fchmod", err, fd);
  }
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err, addr.sun_path);
  }
  const char* failed = NULL;
  if (chmod(addr.sun_path, (mode_t)mode) < 0) {
    failed = "chmod";
  } else if (listen(fd, (int)backlog) < 0) {
    failed = "listen";
  }
  if (failed != NULL) {
    int err = errno;
    close(fd);
    unlink(addr.sun_path);
    return throw_errno(env, failed, err, addr.sun_path);
  }
  return make_int(env, fd);
}

// unixAccept(fd) -> fd, or null when no connection is pending (EAGAIN)
static napi_value unix_accept(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  int fd;
  if (!get_fd(env, argv[0], &fd)) return NULL;
  for (;;) {
    int conn = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (conn >= 0) return make_int(env, conn);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return make_null(env);
    return throw_fd_errno(env, "accept4", errno, fd);
  }
}

// unixConnect(path) -> fd. Connects blocking (a unix stream connect completes at once unless the
// listener's backlog is full), then switches the fd to non-blocking.
static napi_value unix_connect(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  struct sockaddr_un addr;
  if (!fill_sockaddr(env, argv[0], &addr)) return NULL;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno, "");
  if (connect(fd, (struct sockaddr*)&addr, sizeof addr) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "connect", err, addr.sun_path);
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    int err = errno;
    close(fd);
    return throw_fd_errno(env, "fcntl", err, fd);
  }
  return make_int(env, fd);
}

// socketpair() -> [fd, fd], a connected AF_UNIX stream pair.
static napi_value socket_pair(napi_env env, napi_callback_info info) {
  (void)info;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
    return throw_errno(env, "socketpair", errno, "");
  }
  napi_value out;
  napi_create_array_with_length(env, 2, &out);
  napi_set_element(env, out, 0, make_int(env, sv[0]));
  napi_set_element(env, out, 1, make_int(env, sv[1]));
  return out;
}

// sendmsg(fd, bytes: Uint8Array, fds: number[]) -> bytes sent. The fds ride as one SCM_RIGHTS
// control message on the first byte (cmsg(3)).
static napi_value send_msg(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  int fd;
  if (!get_fd(env, argv[0], &fd)) return NULL;
  bool is_typed = false;
  napi_is_typedarray(env, argv[1], &is_typed);
  if (!is_typed) return throw_type(env, "bytes must be a Uint8Array");
  napi_typedarray_type ta_type;
  size_t length;
  void* data;
  napi_get_typedarray_info(env, argv[1], &ta_type, &length, &data, NULL, NULL);
  if (ta_type != napi_uint8_array) return throw_type(env, "bytes must be a Uint8Array");
  bool is_array = false;
  napi_is_array(env, argv[2], &is_array);
  if (!is_array) return throw_type(env, "fds must be an array of fds");
  uint32_t nfds;
  napi_get_array_length(env, argv[2], &nfds);
  if (nfds > MAX_SCM_FDS) {
    char message[96];
    snprintf(message, sizeof message, "%u fds is more than the %d one message can carry", nfds, MAX_SCM_FDS);
    return throw_range(env, message);
  }
  if (nfds > 0 && length == 0) return throw_range(env, "fds need at least one byte to travel with");
  int fds[MAX_SCM_FDS];
  for (uint32_t i = 0; i < nfds; i++) {
    napi_value el;
    napi_get_element(env, argv[2], i, &el);
    if (!get_fd(env, el, &fds[i])) return NULL;
  }
  struct iovec iov = {.iov_base = data, .iov_len = length};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int) * MAX_SCM_FDS)];
    struct cmsghdr align;
  } control;
  if (nfds > 0) {
    memset(&control, 0, sizeof control);
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
  }
  for (;;) {
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return make_int(env, n);
    if (errno == EINTR) continue;
    return throw_fd_errno(env, "sendmsg", errno, fd);
  }
}

static void close_all(const int* fds, size_t n) {
  for (size_t i = 0; i < n; i++) close(fds[i]);
}

// recvmsg(fd, maxBytes, maxFds) -> {bytes: Uint8Array, fds: number[], eof: boolean}, or null when
// nothing is there (EAGAIN). Received fds are O_CLOEXEC (MSG_CMSG_CLOEXEC). If the peer sent more fds
// than fit (MSG_CTRUNC), every fd that did arrive is closed and EMSGSIZE is thrown: the bytes of that
// message are consumed, so the caller must treat the stream as broken.
static napi_value recv_msg(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  int fd;
  double max_bytes, max_fds;
  if (!get_fd(env, argv[0], &fd) || !get_uint(env, argv[1], 1 << 30, "maxBytes", &max_bytes) ||
      !get_uint(env, argv[2], MAX_SCM_FDS, "maxFds", &max_fds)) {
    return NULL;
  }
  napi_value ab;
  void* data = NULL;
  // At least one byte of buffer: a zero-length read cannot tell EOF from an empty message.
  size_t cap = max_bytes > 0 ? (size_t)max_bytes : 1;
  if (napi_create_arraybuffer(env, cap, &data, &ab) != napi_ok) return NULL;
  struct iovec iov = {.iov_base = data, .iov_len = cap};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int) * MAX_SCM_FDS)];
    struct cmsghdr align;
  } control;
  if (max_fds > 0) {
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)max_fds);
  }
  ssize_t n;
  for (;;) {
    n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return make_null(env);
    return throw_fd_errno(env, "recvmsg", errno, fd);
  }
  int fds[MAX_SCM_FDS];
  size_t nfds = 0;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k; i++) {
      int got;
      memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (nfds < MAX_SCM_FDS) {
        fds[nfds++] = got;
      } else {
        close(got);
      }
    }
  }
  if (msg.msg_flags & MSG_CTRUNC) {
    close_all(fds, nfds);
    char detail[160];
    snprintf(detail, sizeof detail,
             "on fd %d: control data truncated (MSG_CTRUNC), more than %d fds were sent and the %zu that "
             "arrived were closed",
             fd, (int)max_fds, nfds);
    return throw_errno(env, "recvmsg", EMSGSIZE, detail);
  }
  napi_value out, bytes, list;
  if (napi_create_typedarray(env, napi_uint8_array, (size_t)n, ab, 0, &bytes) != napi_ok ||
      napi_create_array_with_length(env, nfds, &list) != napi_ok) {
    close_all(fds, nfds);
    return NULL;
  }
  for (size_t i = 0; i < nfds; i++) napi_set_element(env, list, (uint32_t)i, make_int(env, fds[i]));
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "bytes", bytes);
  napi_set_named_property(env, out, "fds", list);
  napi_set_named_property(env, out, "eof", make_bool(env, n == 0 && nfds == 0));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// eventfd(2)

// eventfd(initval) -> fd (EFD_NONBLOCK | EFD_CLOEXEC)
static napi_value event_fd(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  double init;
  if (!get_uint(env, argv[0], UINT32_MAX, "initial value", &init)) return NULL;
  int fd = eventfd((unsigned int)init, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return throw_errno(env, "eventfd", errno, "");
  return make_int(env, fd);
}

// eventfdRead(fd) -> the counter as a bigint (and the counter reset to 0), or 0n when it is 0 (EAGAIN).
static napi_value eventfd_read_(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  int fd;
  if (!get_fd(env, argv[0], &fd)) return NULL;
  uint64_t value = 0;
  for (;;) {
    ssize_t n = read(fd, &value, sizeof value);
    if (n == (ssize_t)sizeof value) break;
    if (n >= 0) return throw_fd_errno(env, "read", EINVAL, fd);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      value = 0;
      break;
    }
    return throw_fd_errno(env, "read", errno, fd);
  }
  napi_value out;
  napi_create_bigint_uint64(env, value, &out);
  return out;
}

// eventfdWrite(fd, value: bigint | number): adds value to the counter; EAGAIN if it would overflow.
static napi_value eventfd_write_(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  int fd;
  uint64_t value;
  if (!get_fd(env, argv[0], &fd) || !get_u64(env, argv[1], "eventfd value", &value)) return NULL;
  for (;;) {
    ssize_t n = write(fd, &value, sizeof value);
    if (n == (ssize_t)sizeof value) return NULL;
    if (n >= 0) return throw_fd_errno(env, "write", EINVAL, fd);
    if (errno == EINTR) continue;
    return throw_fd_errno(env, "write", errno, fd);
  }
}

// setNonBlocking(fd, on)
static napi_value set_non_blocking(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  int fd;
  bool on = true;
  if (!get_fd(env, argv[0], &fd)) return NULL;
  if (napi_get_value_bool(env, argv[1], &on) != napi_ok) return throw_type(env, "on must be a boolean");
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) < 0) {
    return throw_fd_errno(env, "fcntl", errno, fd);
  }
  return NULL;
}

// memfdCreate(name, size) -> fd: anonymous shared memory (memfd_create(2), MFD_CLOEXEC) of `size` bytes.
static napi_value memfd_create_(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  char name[250];
  double size;
  if (!get_string(env, argv[0], name, sizeof name, "memfd name") ||
      !get_uint(env, argv[1], MAX_SAFE_INTEGER, "size", &size)) {
    return NULL;
  }
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return throw_errno(env, "memfd_create", errno, name);
  if (ftruncate(fd, (off_t)size) < 0) {
    int err = errno;
    close(fd);
    return throw_fd_errno(env, "ftruncate", err, fd);
  }
  return make_int(env, fd);
}

// ---------------------------------------------------------------------------------------------------
// Watches: uv_poll on the loop of the calling environment.

static void free_on_close(uv_handle_t* handle) {
  free(handle->data);
}

// Stops and forgets one watch. The N-API references go at once (the env may be going away); the memory
// goes when libuv has closed the handle. uv_close() stops the poll synchronously (uv__poll_close), so
// the fd may be closed right after this returns without libuv touching a reused fd number.
static void drop_watch(instance_t* inst, watch_t* w) {
  for (watch_t** p = &inst->watches; *p != NULL; p = &(*p)->next) {
    if (*p == w) {
      *p = w->next;
      break;
    }
  }
  uv_poll_stop(&w->poll);
  napi_delete_reference(inst->env, w->callback);
  napi_async_destroy(inst->env, w->async);
  w->poll.data = w;
  uv_close((uv_handle_t*)&w->poll, free_on_close);
}

static watch_t* find_watch(instance_t* inst, int fd) {
  for (watch_t* w = inst->watches; w != NULL; w = w->next) {
    if (w->fd == fd) return w;
  }
  return NULL;
}

// Calls the JS callback(error | undefined, events). An exception it throws is cleared here and handed to
// napi_fatal_exception(), i.e. process 'uncaughtException', so it never unwinds into libuv.
static void on_poll(uv_poll_t* handle, int status, int events) {
  watch_t* w = (watch_t*)handle->data;
  napi_env env = w->inst->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, argv[2], result;
  // napi_make_callback() wants an object as the receiver.
  napi_get_global(env, &recv);
  if (napi_get_reference_value(env, w->callback, &cb) == napi_ok && cb != NULL) {
    if (status < 0) {
      char message[128];
      snprintf(message, sizeof message, "poll on fd %d: %s", w->fd, uv_strerror(status));
      argv[0] = make_error(env, uv_err_name(status), "poll", -status, message);
    } else {
      napi_get_undefined(env, &argv[0]);
    }
    napi_create_int32(env, status < 0 ? 0 : events, &argv[1]);
    napi_make_callback(env, w->async, recv, cb, 2, argv, &result);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

// watch(fd, events, callback): starts (or changes) the one watch on fd. events: 1 readable,
// 2 writable, 4 disconnect (UV_READABLE, UV_WRITABLE, UV_DISCONNECT).
static napi_value watch_fd(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  int fd;
  double events;
  if (!get_fd(env, argv[0], &fd) || !get_uint(env, argv[1], 7, "events", &events)) return NULL;
  napi_valuetype type;
  napi_typeof(env, argv[2], &type);
  if (type != napi_function) return throw_type(env, "callback must be a function");
  if (fcntl(fd, F_GETFD) < 0) return throw_fd_errno(env, "fcntl", errno, fd);
  instance_t* inst = instance_of(env);
  if (inst == NULL) return throw_type(env, "the addon's environment is shutting down");
  watch_t* w = find_watch(inst, fd);
  if (w == NULL) {
    uv_loop_t* loop;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;
    w = calloc(1, sizeof *w);
    if (w == NULL) return throw_errno(env, "calloc", ENOMEM, "");
    int rc = uv_poll_init(loop, &w->poll, fd);
    if (rc < 0) {
      free(w);
      char message[128];
      snprintf(message, sizeof message, "poll on fd %d: %s", fd, uv_strerror(rc));
      napi_throw(env, make_error(env, uv_err_name(rc), "poll", -rc, message));
      return NULL;
    }
    napi_value name;
    napi_create_string_utf8(env, "vdpa-kit:native-vhost:watch", NAPI_AUTO_LENGTH, &name);
    napi_async_init(env, NULL, name, &w->async);
    w->inst = inst;
    w->fd = fd;
    w->poll.data = w;
    napi_create_reference(env, argv[2], 1, &w->callback);
    w->next = inst->watches;
    inst->watches = w;
  } else {
    napi_delete_reference(env, w->callback);
    napi_create_reference(env, argv[2], 1, &w->callback);
  }
  int rc = uv_poll_start(&w->poll, (int)events, on_poll);
  if (rc < 0) {
    drop_watch(inst, w);
    char message[128];
    snprintf(message, sizeof message, "poll on fd %d: %s", fd, uv_strerror(rc));
    napi_throw(env, make_error(env, uv_err_name(rc), "poll", -rc, message));
  }
  return NULL;
}

// unwatch(fd) -> whether fd was watched.
static napi_value unwatch_fd(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  int fd;
  if (!get_fd(env, argv[0], &fd)) return NULL;
  instance_t* inst = instance_of(env);
  watch_t* w = inst != NULL ? find_watch(inst, fd) : NULL;
  if (w != NULL) drop_watch(inst, w);
  return make_bool(env, w != NULL);
}

// close(fd): drops a watch on fd first (libuv must not poll a closed, maybe reused, fd number).
static napi_value close_fd(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  int fd;
  if (!get_fd(env, argv[0], &fd)) return NULL;
  instance_t* inst = instance_of(env);
  watch_t* w = inst != NULL ? find_watch(inst, fd) : NULL;
  if (w != NULL) drop_watch(inst, w);
  // On Linux the fd is released even when close() reports EINTR: never retry.
  if (close(fd) < 0 && errno != EINTR) return throw_fd_errno(env, "close", errno, fd);
  return NULL;
}

// openFdCount() -> the number of open fds of this process (/proc/self/fd, less the directory's own).
static napi_value open_fd_count(napi_env env, napi_callback_info info) {
  (void)info;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == NULL) return throw_errno(env, "opendir", errno, "/proc/self/fd");
  int own = dirfd(dir);
  int64_t count = 0;
  struct dirent* e;
  while ((e = readdir(dir)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (atoi(e->d_name) == own) continue;
    count++;
  }
  closedir(dir);
  return make_int(env, count);
}

// ---------------------------------------------------------------------------------------------------
// mmap

static void unlink_mapping(mapping_t* m) {
  for (mapping_t** p = &mappings; *p != NULL; p = &(*p)->next) {
    if (*p == m) {
      *p = m->next;
      return;
    }
  }
}

// The ArrayBuffer's finalizer (on its JS thread, some time after GC): unmap unless munmap() did.
static void finalize_mapping(napi_env env, void* data, void* hint) {
  (void)env;
  (void)data;
  mapping_t* m = (mapping_t*)hint;
  pthread_mutex_lock(&mappings_lock);
  if (!m->released) {
    m->released = 1;
    unlink_mapping(m);
    munmap(m->addr, m->length);
  }
  pthread_mutex_unlock(&mappings_lock);
  free(m);
}

static long page_size(void) {
  return sysconf(_SC_PAGESIZE);
}

// mmap(fd, offset: number | bigint, length) -> ArrayBuffer over MAP_SHARED, PROT_READ | PROT_WRITE
// memory of fd. The offset must be page-aligned; for a regular file (memfd included) offset + length
// must lie inside the file, since touching a page past its end raises SIGBUS.
static napi_value mmap_fd(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  int fd;
  uint64_t offset;
  double length;
  if (!get_fd(env, argv[0], &fd) || !get_u64(env, argv[1], "offset", &offset) ||
      !get_uint(env, argv[2], MAX_SAFE_INTEGER, "length", &length)) {
    return NULL;
  }
  char detail[192];
  long ps = page_size();
  if (offset % (uint64_t)ps != 0) {
    snprintf(detail, sizeof detail, "of fd %d: offset 0x%llx is not a multiple of the page size %ld", fd,
             (unsigned long long)offset, ps);
    return throw_errno(env, "mmap", EINVAL, detail);
  }
  if (length == 0) {
    snprintf(detail, sizeof detail, "of fd %d: length 0", fd);
    return throw_errno(env, "mmap", EINVAL, detail);
  }
  if (offset > (uint64_t)INT64_MAX - (uint64_t)length) {
    snprintf(detail, sizeof detail, "of fd %d: offset 0x%llx + length %.0f overflows", fd,
             (unsigned long long)offset, length);
    return throw_errno(env, "mmap", EOVERFLOW, detail);
  }
  instance_t* inst = instance_of(env);
  double max_length = inst != NULL ? inst->max_buffer_length : DEFAULT_MAX_BUFFER_LENGTH;
  if (length > max_length) {
    snprintf(detail, sizeof detail, "of fd %d: length %.0f is more than an ArrayBuffer holds here (%.0f)", fd,
             length, max_length);
    return throw_errno(env, "mmap", EOVERFLOW, detail);
  }
  struct stat st;
  if (fstat(fd, &st) < 0) return throw_fd_errno(env, "fstat", errno, fd);
  if (S_ISREG(st.st_mode) && offset + (uint64_t)length > (uint64_t)st.st_size) {
    snprintf(detail, sizeof detail, "of fd %d: offset 0x%llx + length 0x%llx is past the end of the file (size 0x%llx)",
             fd, (unsigned long long)offset, (unsigned long long)length, (unsigned long long)st.st_size);
    return throw_errno(env, "mmap", ENXIO, detail);
  }
  void* addr = mmap(NULL, (size_t)length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
  if (addr == MAP_FAILED) return throw_fd_errno(env, "mmap", errno, fd);
  mapping_t* m = calloc(1, sizeof *m);
  if (m == NULL) {
    munmap(addr, (size_t)length);
    return throw_errno(env, "calloc", ENOMEM, "");
  }
  m->addr = addr;
  m->length = (size_t)length;
  napi_value ab;
  if (napi_create_external_arraybuffer(env, addr, (size_t)length, finalize_mapping, m, &ab) != napi_ok) {
    // Node's Buffer::New() hands the memory to the finalizer even when it fails, so the mapping and `m`
    // are the finalizer's now: neither is touched here (a leak at worst, never a double munmap/free).
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) {
      snprintf(detail, sizeof detail, "of fd %d: length %.0f does not fit an ArrayBuffer here", fd, length);
      return throw_errno(env, "mmap", ENOMEM, detail);
    }
    return NULL;
  }
  pthread_mutex_lock(&mappings_lock);
  m->next = mappings;
  mappings = m;
  pthread_mutex_unlock(&mappings_lock);
  return ab;
}

// munmap(arrayBuffer) -> true if it was a live mapping made by mmap() (now detached, so every view on it
// has length 0, and unmapped), false otherwise (not ours, or already released).
static napi_value munmap_buffer(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  bool is_ab = false;
  napi_is_arraybuffer(env, argv[0], &is_ab);
  if (!is_ab) return throw_type(env, "munmap takes the ArrayBuffer that mmap returned");
  void* data = NULL;
  size_t length = 0;
  napi_get_arraybuffer_info(env, argv[0], &data, &length);
  if (data == NULL) return make_bool(env, false);
  pthread_mutex_lock(&mappings_lock);
  mapping_t* m = mappings;
  while (m != NULL && !(m->addr == data && m->length == length && !m->released)) m = m->next;
  if (m == NULL) {
    pthread_mutex_unlock(&mappings_lock);
    return make_bool(env, false);
  }
  // Detach before unmapping: no JS view may reach the pages once they are gone.
  if (napi_detach_arraybuffer(env, argv[0]) != napi_ok) {
    pthread_mutex_unlock(&mappings_lock);
    return NULL;
  }
  m->released = 1;
  unlink_mapping(m);
  munmap(m->addr, m->length);
  pthread_mutex_unlock(&mappings_lock);
  return make_bool(env, true);
}

// pageSize() -> sysconf(_SC_PAGESIZE)
static napi_value page_size_js(napi_env env, napi_callback_info info) {
  (void)info;
  return make_int(env, page_size());
}

// ---------------------------------------------------------------------------------------------------
// Module

// Runs when the environment (the main thread or a worker) goes away: every watch is stopped while the
// env can still release its references, and the state is freed here rather than in an instance-data
// finalizer, whose order against cleanup hooks N-API does not promise.
static void cleanup_instance(void* arg) {
  instance_t* inst = (instance_t*)arg;
  while (inst->watches != NULL) drop_watch(inst, inst->watches);
  if (inst->error_class != NULL) napi_delete_reference(inst->env, inst->error_class);
  napi_set_instance_data(inst->env, NULL, NULL, NULL);
  free(inst);
}

NAPI_MODULE_INIT() {
  instance_t* inst = calloc(1, sizeof *inst);
  if (inst == NULL) return NULL;
  inst->env = env;
  inst->max_buffer_length = DEFAULT_MAX_BUFFER_LENGTH;
  napi_set_instance_data(env, inst, NULL, NULL);
  napi_add_env_cleanup_hook(env, cleanup_instance, inst);
  napi_property_descriptor props[] = {
      {"configure", NULL, configure, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixListen", NULL, unix_listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixAccept", NULL, unix_accept, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixConnect", NULL, unix_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"socketpair", NULL, socket_pair, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendmsg", NULL, send_msg, NULL, NULL, NULL, napi_enumerable, NULL},
      {"recvmsg", NULL, recv_msg, NULL, NULL, NULL, napi_enumerable, NULL},
      {"eventfd", NULL, event_fd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"eventfdRead", NULL, eventfd_read_, NULL, NULL, NULL, napi_enumerable, NULL},
      {"eventfdWrite", NULL, eventfd_write_, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setNonBlocking", NULL, set_non_blocking, NULL, NULL, NULL, napi_enumerable, NULL},
      {"memfdCreate", NULL, memfd_create_, NULL, NULL, NULL, napi_enumerable, NULL},
      {"watch", NULL, watch_fd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unwatch", NULL, unwatch_fd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, close_fd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openFdCount", NULL, open_fd_count, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mmap", NULL, mmap_fd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"munmap", NULL, munmap_buffer, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pageSize", NULL, page_size_js, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
