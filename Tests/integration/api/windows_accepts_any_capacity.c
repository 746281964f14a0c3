// mapwarden_windows(buf, n) takes n as a size_t, the
// capacity of buf: "fills buf[0] to buf[min(n, count) - 1]". A caller that
// passes a capacity it does not track exactly (SIZE_MAX, "as many as
// there are", or any n >= 2^63) must get the count and min(n, count)
// entries. The engine receives n as a Swift Int (size_t imports as Int):
// n >= 2^63 becomes negative, min(n, count) is negative, and the loop
// `0..<min(n, count)` traps (a crash of the program, SIGILL/SIGTRAP).
// Expected: 1 returned, buf[0] is the default window.
#include "common.h"
#include "win_helpers.h"
#include "api_helpers.h"

int main(void) {
    api_require();
    struct mapwarden_window w[MAPWARDEN_WINDOWS_MAX];
    memset(w, 0, sizeof w);
    int n = mapwarden_windows(w, (size_t)-1);
    CHECKF(n == 1, "mapwarden_windows(buf, SIZE_MAX) = %d (errno %d)", n, errno);
    CHECKF(strcmp(w[0].name, "default") == 0, "entry 0 is '%s'", w[0].name);
    memset(w, 0, sizeof w);
    n = mapwarden_windows(w, (size_t)1 << 63);
    CHECKF(n == 1 && strcmp(w[0].name, "default") == 0, "mapwarden_windows(buf, 2^63) = %d, '%s'", n, w[0].name);
    printf("ok\n");
    return 0;
}
