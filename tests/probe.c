/*
 * probe.c -- a tiny LD_PRELOAD library for tests/programs.sh: at start-up
 * each process appends "PID COMM MODULE" to $MOSAIC_PROBE_FILE, where MODULE
 * is the file that provides the process's malloc. It proves that a real
 * program (and every process it starts) ran on Mosaic. No allocation of
 * its own.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The file that provides malloc. dlsym(RTLD_DEFAULT) gives the address
 * calls resolve to, except in a position-dependent executable that takes
 * malloc's address (Debian 12's /usr/bin/python3.11): there the canonical
 * address is the executable's own PLT stub. Then the provider is the first
 * object after the executable, in load (= lookup) order, that defines it.
 */
static const char *malloc_module(void)
{
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    if (!sym || !dladdr(sym, &info) || !info.dli_fname)
        return "unresolved";
    struct link_map *map = NULL;
    void *self = dlopen(NULL, RTLD_LAZY | RTLD_NOLOAD);
    if (!self || dlinfo(self, RTLD_DI_LINKMAP, &map) != 0 || !map)
        return info.dli_fname;
    for (struct link_map *l = map->l_next; l; l = l->l_next)
        if (strcmp(l->l_name, info.dli_fname) == 0)
            return info.dli_fname; /* a library: the usual case */
    for (struct link_map *l = map->l_next; l; l = l->l_next) {
        if (!l->l_name[0])
            continue; /* the vDSO */
        void *h = dlopen(l->l_name, RTLD_LAZY | RTLD_NOLOAD);
        void *s = h ? dlsym(h, "malloc") : NULL;
        Dl_info li;
        if (s && dladdr(s, &li) && li.dli_fname && strcmp(li.dli_fname, l->l_name) == 0)
            return l->l_name; /* (defined there, not in one of its dependencies) */
    }
    return info.dli_fname;
}

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
    const char *mod = malloc_module();
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
