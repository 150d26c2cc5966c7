#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "CLinux.h"

int clinux_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    return accept4(fd, addr, len, flags);
}

// Written before the handler is installed, read only inside it.
static volatile sig_atomic_t clinux_signal_fd = -1;

static void clinux_signal_handler(int sig) {
    int saved = errno;
    unsigned char byte = (unsigned char)sig;
    if (clinux_signal_fd >= 0) {
        ssize_t ignored = write(clinux_signal_fd, &byte, 1);
        (void)ignored;
    }
    errno = saved;
}

int clinux_forward_signal(int sig, int fd) {
    clinux_signal_fd = fd;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = clinux_signal_handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    return sigaction(sig, &action, NULL);
}

int clinux_restore_signal(int sig) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    return sigaction(sig, &action, NULL);
}
