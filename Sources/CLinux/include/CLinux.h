// Linux glue that Swift's Glibc module does not export (it needs _GNU_SOURCE).
#pragma once
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/types.h>

/// accept4(2), which needs _GNU_SOURCE.
int clinux_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

/// Installs an async-signal-safe handler for `sig` that writes the signal number as one byte to
/// `fd` (a self-pipe); one descriptor serves every forwarded signal. Returns sigaction's result.
int clinux_forward_signal(int sig, int fd);

/// Restores the default action of `sig`. Returns sigaction's result.
int clinux_restore_signal(int sig);

/// Starts `path` with `argv` and `envp` through posix_spawn(3): descriptors `in`, `out` and `err` become
/// the child's 0, 1 and 2, every other descriptor is closed in the child (closefrom, glibc 2.34), the
/// child runs in `directory` when not NULL, leads a new process group, and starts with no blocked
/// signals and the default action for the signals a parent commonly handles or ignores (SIGPIPE, SIGINT,
/// SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM). Returns 0 and sets `*pid`, or an errno.
int clinux_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], const char *directory,
                 int in, int out, int err);
