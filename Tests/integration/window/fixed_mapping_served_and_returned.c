// A MAP_FIXED mapping inside the default window is served in place,
// registered, and munmap returns it to the reservation.
#include "common.h"

int main(void) {
    CHECK(registry_consistent() == 0);
    char *p = mmap(W(0x10000), 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(p == W(0x10000));
    memset(p, 0xAB, 3 * PAGE);
    CHECK(query_state(p + PAGE) == MAPWARDEN_MAPPED);
    CHECK(registry_consistent() == 1);
    CHECK(munmap(p, 3 * PAGE) == 0);
    CHECK(query_state(p) == MAPWARDEN_FREE);
    CHECK(registry_consistent() == 0);
    CHECK(for_each_maps_line(window_base(), window_base() + window_size(), NULL, NULL) == 1);
    return 0;
}
