"""The attack table: each malicious or broken submission in submissions/ and the verdict grade() must reach."""

# Many fixtures repeat honest_conv_ops.py's solution after their attack, on purpose: a submission
# is one self-contained file, as a student uploads it, and the correct part shows that the attack
# costs only what it should (the honest checks still score where that makes sense).

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    """One submission under submissions/ and what grading it must give."""

    fixture: str
    """The file under submissions/; its text holds the marker ADVERSARIAL_<its stem>."""
    attack: str
    """What it tries, in words."""
    points: float
    """The exact score it must get."""
    assignment: str = "conv_ops"
    self_check: bool = False
    """True runs the public checks only (model assignments: nothing trains)."""
    timeout: float | None = None
    """Every phase's time budget (`--timeout`); None keeps the phase's own."""
    memory_gib: float | None = None
    """The sandbox's memory limit for this case (`--memory`); None keeps Config's default (4 GiB)."""
    all_errors: str | None = None
    """When set, every check has status error and a message containing this."""
    messages: tuple[str, ...] = ()
    """Each must appear in a note (where the student's errors are shown, once) or some check's message."""
    log_has: tuple[str, ...] = ()
    """Each must appear in the instructor log: proof that the attack ran."""
    log_lacks: tuple[str, ...] = ()
    """None may appear in the instructor log: what a successful attack would have printed."""
    host_absent: tuple[str, ...] = ()
    """Host paths that must not exist afterwards (what an escaped payload would create)."""
    known_weakness: str | None = None
    """Why the grader cannot (yet) reach this verdict; the case is then a strict xfail."""

    @property
    def marker(self) -> str:
        return "ADVERSARIAL_" + self.fixture.rsplit(".", 1)[0]


BUDGET = "within its time budget of {} s"
WALL_CAP = "within the wall-clock cap of"
NO_RESULTS = "without results"
NUMPY_ONLY = 1.0  # conv_ops gives its "NumPy only" point to any submission that ran without a framework

# Besides its verdict, every case must leave the machine as it was (test_adversarial.py): no process
# of its sandbox uids, no cgroup, mount or kernel key of theirs, the planted files and the project's
# data/ and reference/ unchanged, nothing new in the project, the host's /tmp or home, the canary
# nowhere in the report, no connection to the test's loopback listener, a report that holds no
# control character and that the gradebook stores, and a correct submission graded at the same time
# at full marks.
# In strings, {sentinel}, {gradebook}, {hidden_data}, {other_submission}, {secret}, {host_tmp_file},
# {home_file}, {repo_file}, {data_file} and {repo_dir} stand for the host paths the test planted or guards.
CASES = [
    # --- reading what the sandbox must not see ---
    Case("snoop_paths.py", "read planted hidden data, gradebook, secret, reference, another student's file, "
         "/etc/shadow and /proc/1/environ by path", NUMPY_ONLY,
         log_has=("BLOCKED /etc/shadow", "BLOCKED /proc/1/environ", "BLOCKED {hidden_data}", "BLOCKED {gradebook}",
                  "BLOCKED {secret}", "BLOCKED {other_submission}", "BLOCKED {sentinel}", "BLOCKED {repo_file}",
                  "BLOCKED {data_file}", "BLOCKED {host_tmp_file}", "BLOCKED {home_file}"),
         log_lacks=("READ ",)),
    Case("snoop_walk.py", "os.walk('/') and read every small file outside the system folders", NUMPY_ONLY,
         log_has=("walked",), log_lacks=("FOUND ", "CANARY in")),
    Case("snoop_proc.py", "read /proc/*/cmdline and environ of every visible process", NUMPY_ONLY,
         log_has=("PIDS [",), log_lacks=("pytest", "READ /proc/1/root", "ADVERSARIAL_CANARY")),
    # --- writing outside ---
    # Writing {host_tmp_file} succeeds, in the sandbox's private /tmp: its hash shows the host's is untouched.
    Case("write_outside.py", "write to home, the host /tmp, the project, the gradebook, the sentinel and the "
         "read-only mounts; unlink and chmod them", NUMPY_ONLY,
         log_has=("BLOCKED {sentinel}", "BLOCKED {gradebook}", "BLOCKED /probe/driver.py",
                  "BLOCKED /submission/submission.py", "BLOCKED unlink /probe/driver.py"),
         log_lacks=("WROTE {sentinel}", "WROTE {gradebook}", "WROTE {repo_file}", "WROTE {data_file}",
                    "WROTE {repo_dir}", "WROTE {home_file}", "WROTE /work", "WROTE /probe",
                    "WROTE /submission", "WROTE /inputs", "WROTE /usr", "DID ")),
    # --- network ---
    Case("network.py", "connect to the test's listener on the host's 127.0.0.1, resolve DNS, fetch over HTTP",
         NUMPY_ONLY, log_has=("BLOCKED loopback", "BLOCKED dns", "BLOCKED internet", "BLOCKED http "),
         log_lacks=("CONNECTED",)),
    # --- resources ---
    Case("memory_bomb.py", "one process allocates until it runs out of memory", 0.0, memory_gib=1,
         all_errors="MemoryError"),
    Case("memory_bomb_forks.py", "six processes of 600 MB each, under the per-process limit", 0.0, memory_gib=1,
         timeout=10, all_errors="more than 1 GiB of memory"),
    Case("fork_bomb.py", "every process forks forever", 0.0, timeout=4, all_errors=BUDGET.format(4)),
    Case("thread_bomb.py", "threads until the process limit, then wait on them", 0.0, timeout=4,
         all_errors=WALL_CAP),
    Case("busy_loop.py", "conv2d never returns", 0.0, timeout=3, all_errors=BUDGET.format(3)),
    Case("sleeper.py", "sleeps an hour at import", 0.0, timeout=3, all_errors=WALL_CAP),
    Case("sigstop.py", "stops itself with SIGSTOP at import", 0.0, timeout=3, all_errors=WALL_CAP),
    Case("daemon.py", "a correct solution that leaves a double-forked daemon ignoring SIGTERM", 30.0),
    # The disk verdict is proof enough that a fill ran: the supervisor may stop it before it prints.
    Case("disk_fill_tmp.py", "a correct solution that fills /tmp until ENOSPC", 0.0,
         all_errors="filled /tmp past its limit of 512 MiB"),
    Case("disk_fill_out.py", "fill /out with 192 MiB files", 0.0, timeout=30,
         all_errors="filled /out past its limit of 512 MiB"),
    Case("deep_out.py", "nest 1,500 folders in /out (shutil.rmtree raised RecursionError)", NUMPY_ONLY,
         log_has=("nested 1500 folders in /out",)),
    Case("stdout_flood.py", "a correct solution that prints 300 MB", 30.0,
         log_has=("END-OF-FLOOD", "bytes of output dropped")),
    # --- ending early ---
    Case("os_exit_import.py", "os._exit(0) at import", 0.0, all_errors=NO_RESULTS),
    Case("sys_exit_import.py", "sys.exit(0) at import", 0.0, all_errors=NO_RESULTS),
    Case("os_exit_in_function.py", "os._exit(0) inside conv2d", 0.0, all_errors=NO_RESULTS),
    Case("sys_exit_in_function.py", "sys.exit(0) inside conv2d", 0.0, all_errors=NO_RESULTS),
    # --- fake results ---
    Case("fake_stdout_results.py", "print a perfect results JSON and [PASS] lines; implement nothing", NUMPY_ONLY),
    Case("fake_observations_import.py", "write a perfect-looking observations.json and .npy files at import, "
         "implement nothing", NUMPY_ONLY, messages=("raised NotImplementedError",)),
    Case("fake_observations_exit.py", "write a perfect-looking observations.json (zeros in the .npy files), "
         "then os._exit(0) before the probe runs", NUMPY_ONLY, messages=("got 1, expected",)),
    Case("huge_json_int.py", "observations.json with a 5,000-digit integer (ValueError stopped grading)", 0.0,
         all_errors="could not be read as JSON"),
    Case("huge_step_seconds.py", "observations.json with a 400-digit step time (OverflowError stopped grading)",
         NUMPY_ONLY),
    # --- outputs ---
    Case("object_array_pickle.py", "object arrays, then .npy pickles with a payload swapped in after the probe",
         NUMPY_ONLY, messages=("has dtype object",), host_absent=("/tmp/ADVERSARIAL_pickle_ran",)),
    Case("ndarray_subclass.py", "an ndarray subclass and an int subclass that claim to equal anything",
         NUMPY_ONLY, messages=("got 0, expected",)),
    Case("nan_inf.py", "NaN and inf of the right shapes, NaN and Infinity scalars", NUMPY_ONLY,
         messages=("got nan, expected", "got inf, expected")),
    Case("wrong_dtype.py", "complex, str, bool and datetime arrays; a str and a bool for the scalars",
         NUMPY_ONLY, messages=("of dtype complex128, not numbers", "of dtype <U3, not numbers")),
    Case("huge_output.py", "a 10^9-element view, a 320 MiB array, a 68 MiB array, 2**64 scalars", NUMPY_ONLY,
         messages=("raised MemoryError", "41943040 requested and 33554416 written",
                   "your answer is 68 MiB; at most 1 MiB is read")),
    Case("symlink_observations.py", "swap observations.json for a symlink to /etc/shadow and the .npy files "
         "for FIFOs after the probe", 0.0, all_errors="is a symbolic link"),
    Case("numpy_only_evasion.py", "load TensorFlow under a computed name and hide it from sys.modules",
         0.0, known_weakness="the probe runs in the student's process, so a framework loaded under a computed "
                             "name and removed from sys.modules escapes the 'NumPy only' rule"),
    # --- packaging ---
    Case("notebook_malicious.ipynb", "a notebook whose shell line, magic and Python cell attack; "
         "its last cell is a correct solution", 30.0,
         log_has=("BLOCKED /work/main/var/secret", "BLOCKED /work/main/ADVERSARIAL_notebook_malicious",
                  "BLOCKED internet"),
         log_lacks=("WROTE /work", "READ ")),
    Case("zip_escape.zip", "a zip of a correct solution with ../ entries aiming at the project and /tmp",
         0.0, all_errors="outside itself"),
    # --- model assignments: Keras and NumPy patched in the sandbox ---
    Case("mnist_count_params.py", "a wrong model (3x3 conv1, no softmax) with count_params patched to the "
         "lecture's numbers, and a fake observations.json and probe outputs written at import",
         7.25, assignment="mnist_convnet", self_check=True,
         messages=("Layer 'conv1': trainable parameters got 40, expected 104", "got 207,194, expected 207,258",
                   "Output rows should be probabilities")),
    Case("mnist_numpy_patch.py", "numpy.asarray patched to forge probabilities, numpy.save to write pickles",
         10.0, assignment="mnist_convnet", self_check=True, messages=("has dtype object",),
         host_absent=("/tmp/ADVERSARIAL_numpy_pickle_ran",)),
    Case("mnist_symlink_outputs.py", "the right model; probe_outputs.npy swapped for a symlink to /etc/shadow "
         "after the probe", 10.0, assignment="mnist_convnet", self_check=True, messages=("is a symbolic link",)),
    Case("mnist_train_no_weights.py", "the train phase ends without model.weights.h5 (FileNotFoundError "
         "stopped grading)", 0.0, assignment="mnist_convnet", all_errors="",
         messages=("the trained model's weights are missing",)),
    Case("mnist_symlink_weights.py", "the train phase leaves model.weights.h5 as a symlink to /etc/shadow",
         0.0, assignment="mnist_convnet", all_errors="", messages=("the trained model's weights from the train phase "
                                                                 "are not a plain file",)),
    Case("mnist_memorized_labels.py", "the right model, never trained: fit is a no-op and predict looks each "
         "image up in a table of MNIST's public labels", 11.0, assignment="mnist_convnet",
         messages=("Accuracy on 2,000 hidden digits", "Likely cause"),
         known_weakness="the hidden digits are MNIST's, whose labels are public: accuracy can be had with a "
                        "lookup table instead of a trained model"),
    Case("mnist_forge_probe.py", "no model; replaces keras_probe.describe_phase to report the lecture's model",
         0.0, assignment="mnist_convnet", self_check=True,
         known_weakness="the probe runs in the student's process, so a submission can rewrite what it reports: "
                        "shape, parameter and probability checks trust the sandbox's observations"),
    # --- observations of the wrong JSON types (AttributeError, TypeError, ValueError inside the grader) ---
    Case("wrong_json_types.py", "after the probe, rewrite observations.json: errors a list, step times and "
         "results strings, frameworks_loaded false", 0.0,
         all_errors="the errors your code raised are a list of 1 item; expected an object with one error per step",
         messages=("how long each step of the grader took: one time is a string ('fast')",
                   "how long the phase took is a string ('0')")),
    Case("mnist_wrong_json_types.py", "the right model; after the probe, the total parameters a string, conv2's "
         "output shape with string sizes, fc2's parameters true", 3.0, assignment="mnist_convnet", self_check=True,
         messages=("its record of your model (trainable parameters): got a string ('207,258'), expected an integer",
                   "its record of your model (the 4th layer, output shape): got a string ('14') at [1]",
                   "its record of your model (the 9th layer, trainable parameters): got true, expected an integer")),
    # --- the resource envelope: what rlimits and a resident-set watchdog did not count ---
    Case("tmpfs_memory.py", "a correct solution that hoards 400 MiB in /dev/shm", 0.0, memory_gib=0.25,
         all_errors="more than 256 MiB of memory"),
    Case("memfd_memory.py", "a correct solution that hoards 400 MiB in memfds it never maps", 0.0, memory_gib=0.25,
         all_errors="more than 256 MiB of memory"),
    # The address-space limit refuses the mapping; without it (on a GPU) the memory cgroup counts page tables.
    Case("page_tables.py", "a correct solution whose 512 GiB mapping, read every 2 MiB, would cost 1 GiB of "
         "page tables", 0.0, memory_gib=0.25, all_errors="importing your file raised OSError"),
    Case("inode_flood.py", "a correct solution that makes a million empty files in /tmp", 0.0,
         all_errors="filled /tmp past its limit of 512 MiB or 16,384 files"),
    Case("xattr_flood.py", "a correct solution that hangs extended attributes on a file in /tmp", 0.0,
         all_errors="filled /tmp past its limit"),
    Case("unlinked_out.py", "writes to a file in /out it has deleted, unseen by any walk of the folder", 0.0,
         all_errors="filled /out past its limit of 512 MiB"),
    Case("userns_mount.py", "a correct solution that makes a user namespace and mounts a 100 GiB tmpfs in it",
         30.0, log_has=("BLOCKED unshare", "BLOCKED mount", "BLOCKED unshare net", "BLOCKED clone newuser"),
         log_lacks=("DID ",)),
    Case("keyring.py", "a correct solution that leaves a key in its uid's kernel keyring for the next student",
         30.0, log_has=("BLOCKED add_key user", "BLOCKED add_key session", "BLOCKED keyctl read",
                        "BLOCKED request_key"), log_lacks=("DID ",)),
    Case("kernel_calls.py", "a correct solution that tries ptrace, bpf, perf_event_open, io_uring, userfaultfd, "
         "settimeofday, process_vm_readv and open_by_handle_at", 30.0,
         log_has=tuple(f"BLOCKED {name}" for name in ("ptrace", "bpf", "perf_event_open", "io_uring_setup",
                                                      "userfaultfd", "settimeofday", "process_vm_readv",
                                                      "open_by_handle_at")), log_lacks=("REACHED ",)),
    Case("cpu_spread.py", "a correct solution that spins eight processes and spreads them over every core",
         30.0, log_has=("threads 1",)),
    Case("control_characters.py", "escape sequences, a C1 control and lone surrogates in its output, an "
         "exception message and the device name it forges", 8.67,
         messages=("\\x1b[2J\\x1b[H\\x1b[32mconv_ops: 30 / 30 points", "lone surrogate \ufffd here"),
         log_has=("\\x1b[2J", "\\x9b31m a C1 control", "\\x07", "encoded as bytes: \ufffd")),
    # --- damaged and hostile uploads: the loader raised errors of its own kind, and stopped the batch ---
    Case("notebook_deep_json.ipynb", "a correct solution in a notebook whose metadata nests 50,000 lists deep",
         0.0, all_errors="its JSON nests lists or objects thousands deep"),
    Case("notebook_huge_number.ipynb", "a correct solution in a notebook with a 5,000-digit execution count",
         0.0, all_errors="its JSON holds a number thousands of digits long"),
    Case("notebook_lone_surrogate.ipynb", "a correct solution beside a cell whose string holds a lone "
         "surrogate, which cannot be written as UTF-8", 30.0),
    Case("zip_version.zip", "a correct solution in a zip that claims a zip version zipfile refuses", 0.0,
         all_errors="needs a newer zip version than the grader can read"),
    Case("zip_bad_local_header.zip", "a correct solution in a zip whose local header flags a name that is not "
         "UTF-8", 0.0, all_errors="is damaged or uses a compression the grader cannot read"),
    Case("zip_control_names.zip", "two code files whose names are terminal escape sequences", 0.0,
         all_errors="the grader cannot tell which one to grade", messages=("\\x1b[2J\\x1b[Hconv_ops 30 of 30.py",)),
]
