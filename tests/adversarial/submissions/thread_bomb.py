"""conv_ops: at import, starts threads until the process limit, then waits for them."""

import threading
import time

MARKER = "ADVERSARIAL_thread_bomb"

threads = []
while True:
    try:
        thread = threading.Thread(target=time.sleep, args=(3600,))
        thread.start()
        threads.append(thread)
    except RuntimeError:  # "can't start new thread": the process limit
        break
print(f"started {len(threads)} threads")
for thread in threads:
    thread.join()
