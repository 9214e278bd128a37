/* The smallest libmsb program: prints the library version and a status message.
 * Build: cc hello.c $(pkg-config --cflags --libs libmsb) */
#include <stdio.h>

#include <msb/msb.h>

int main(void)
{
    if (msb_init() != MSB_OK) {
        return 1;
    }
    msb_error_t err = MSB_ERROR_INIT;
    printf("hello from libmsb %s (status %d is \"%s\")\n", msb_version(), MSB_ETIMEDOUT,
           msb_strerror(MSB_ETIMEDOUT));
    (void)err;
    msb_fini();
    return 0;
}
