/*
 * spawn -- runs one benchmark and measures it: wall time, user and system
 * CPU time and peak RSS (wait4's ru_maxrss).
 *
 *   spawn [-p preload.so] [-t timeout_s] -o statsfile -- program args...
 *
 * Why a separate small program rather than forking from the Python runner:
 * Linux starts a child's ru_maxrss at the resident size of the process that
 * forked it (the high-water mark of the pre-exec memory image is carried
 * over), so a child of a 20 MiB Python would never report less than 20 MiB.
 * Forked from this ~1 MiB program, the floor is about 1 MiB for everyone.
 *
 * The preload is set in the child only, so this program itself always runs
 * on the system allocator.  The stats file gets one line:
 *   wall=S user=S sys=S maxrss_kb=N status=exit:N|signal:N|timeout
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;
static pid_t child;

static void on_alarm(int sig) {
    (void)sig;
    timed_out = 1;
    if (child > 0)
        kill(child, SIGKILL);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

__attribute__((noreturn)) static void usage(void) {
    fprintf(stderr, "usage: spawn [-p preload.so] [-t timeout_s] -o statsfile -- prog args...\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *preload = NULL, *stats = NULL;
    unsigned timeout = 0;
    int c;
    while ((c = getopt(argc, argv, "+p:t:o:")) != -1) {
        switch (c) {
        case 'p': preload = optarg; break;
        case 't': timeout = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'o': stats = optarg; break;
        default: usage();
        }
    }
    if (!stats || optind >= argc)
        usage();
    FILE *out = fopen(stats, "w");
    if (!out) {
        perror(stats);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);

    pid_t parent = getpid();
    double t0 = now();
    child = fork();
    if (child < 0) {
        perror("fork");
        return 2;
    }
    if (child == 0) {
        /* Killed with this program (the runner interrupted): the benchmark
         * must not run on and disturb what is measured next. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(127);
        fclose(out);
        if (preload && *preload)
            setenv("LD_PRELOAD", preload, 1);
        else
            unsetenv("LD_PRELOAD");
        execvp(argv[optind], argv + optind);
        perror(argv[optind]);
        _exit(127);
    }
    if (timeout)
        alarm(timeout);
    int status;
    struct rusage ru;
    pid_t r;
    while ((r = wait4(child, &status, 0, &ru)) < 0 && errno == EINTR)
        ;
    double wall = now() - t0;
    alarm(0);
    if (r < 0) {
        perror("wait4");
        return 2;
    }
    char st[32];
    if (timed_out)
        snprintf(st, sizeof st, "timeout");
    else if (WIFSIGNALED(status))
        snprintf(st, sizeof st, "signal:%d", WTERMSIG(status));
    else
        snprintf(st, sizeof st, "exit:%d", WEXITSTATUS(status));
    fprintf(out, "wall=%.6f user=%.6f sys=%.6f maxrss_kb=%ld status=%s\n", wall,
            (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6,
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6,
            ru.ru_maxrss, st);
    fclose(out);
    return 0;
}
