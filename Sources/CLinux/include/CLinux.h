// Linux socket glue that Swift's Glibc module does not export.
#pragma once
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>

/// accept4(2), which needs _GNU_SOURCE.
int clinux_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

/// Installs an async-signal-safe handler for `sig` that writes the signal number as one byte to
/// `fd` (a self-pipe); one descriptor serves every forwarded signal. Returns sigaction's result.
int clinux_forward_signal(int sig, int fd);

/// Restores the default action of `sig`. Returns sigaction's result.
int clinux_restore_signal(int sig);
