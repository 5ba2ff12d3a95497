"""conv_ops: at import, one process grows until it runs out of memory."""

MARKER = "ADVERSARIAL_memory_bomb"

hog = []
while True:
    hog.append(b"x" * 64 * 2**20)  # bytes are written, so the pages are really used
