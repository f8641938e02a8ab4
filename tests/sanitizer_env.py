"""Whether this test process runs under AddressSanitizer (.ci/sanitize.sh preloads libasan)."""


def under_asan() -> bool:
    try:
        with open("/proc/self/maps") as f:
            return "libasan" in f.read()
    except OSError:
        return False
