/* static_hello.c: a statically linked program for the recorder's "cannot profile" path. It
 * prints one line and exits with status 5, so a test can see that it still ran, unprofiled. */
#include <stdio.h>

int main(void) {
    printf("static_hello: ran\n");
    return 5;
}
