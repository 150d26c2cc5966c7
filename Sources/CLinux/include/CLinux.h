// Linux socket glue that Swift's Glibc module does not export.
#pragma once
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>

/// accept4(2), which needs _GNU_SOURCE.
int clinux_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
