/* cpu_of.c: runs a command and prints the CPU time it used (user + system, children included)
 * in microseconds: GNU time rounds to 10 ms, coarser than the per-process costs measured here.
 * Its output goes to /dev/null; its stderr is kept in the file named first.
 *   cpu_of ERRFILE CMD ARGS...   prints "MICROSECONDS\n", exits with CMD's status */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: cpu_of ERRFILE CMD ARGS...\n");
        return 2;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    if (posix_spawnp(&pid, argv[2], &fa, NULL, argv + 2, environ) != 0) {
        perror(argv[2]);
        return 127;
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid) {
        perror("wait4");
        return 127;
    }
    long long us = (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
                   ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    printf("%lld\n", us);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
