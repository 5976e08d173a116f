/*
 * probe.c -- a tiny LD_PRELOAD library for tests/programs.sh: at start-up
 * each process appends "PID COMM MODULE" to $MOSAIC_PROBE_FILE, where MODULE
 * is the file that provides the process's malloc. It proves that a real
 * program (and every process it starts) ran on Mosaic. No allocation.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void probe(void)
{
    const char *file = getenv("MOSAIC_PROBE_FILE");
    if (!file || !*file)
        return;
    char line[1024], comm[64] = "?";
    int fd = open("/proc/self/comm", O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, comm, sizeof comm - 1);
        comm[n > 0 ? n : 0] = 0;
        char *nl = strchr(comm, '\n');
        if (nl)
            *nl = 0;
        close(fd);
    }
    const char *mod = "unresolved";
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    if (sym && dladdr(sym, &info) && info.dli_fname)
        mod = info.dli_fname;
    /* no stdio: format by hand */
    char pid[24];
    long v = (long)getpid();
    int i = (int)sizeof pid - 1;
    pid[i] = 0;
    do {
        pid[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i > 0);
    size_t len = 0;
    const char *parts[] = {pid + i, " ", comm, " ", mod, "\n"};
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
        size_t l = strlen(parts[k]);
        if (len + l >= sizeof line)
            break;
        memcpy(line + len, parts[k], l);
        len += l;
    }
    fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (write(fd, line, len) < 0) {
        }
        close(fd);
    }
}
