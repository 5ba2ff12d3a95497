"""The system-call policy of a sandbox: calls that no homework needs and that would let code reach past its envelope.

Compiled with libseccomp (through pyseccomp) into the BPF program that bubblewrap installs with
`--seccomp FD` just before it starts the command, in root mode as in user-namespace mode. Every
other call is allowed: the list names what to refuse, each with the reason, so that a reviewer can
audit it on one page. A refused call fails with EPERM (clone3 with ENOSYS, see below), which
Python raises as PermissionError: the student's code sees an error, not a killed process.
"""

from __future__ import annotations

import errno
import functools
import logging
import os

log = logging.getLogger(__name__)

REFUSED: dict[str, str] = {
    # Namespaces and mounts: as root, bubblewrap cannot stop the sandbox from making a user
    # namespace, and inside one it could mount a tmpfs of any size, outside every limit.
    "unshare": "new namespaces: a user namespace makes the sandbox root of its own mounts",
    "setns": "joining another namespace",
    "mount": "mounting a file system (a tmpfs of any size, outside the disk limit)",
    "umount2": "unmounting what the sandbox was given (and revealing what lies beneath)",
    "pivot_root": "changing the root file system",
    "chroot": "changing the root directory",
    "fsopen": "the new mount API: making a file system",
    "fsconfig": "the new mount API: configuring a file system",
    "fsmount": "the new mount API: mounting it",
    "fspick": "the new mount API: reconfiguring a mounted file system",
    "move_mount": "the new mount API: attaching a mount",
    "open_tree": "the new mount API: copying a mount tree",
    "mount_setattr": "the new mount API: changing mount flags",
    # The kernel keyring outlives the sandbox: keys of a leased uid would wait for the next student.
    "add_key": "the kernel keyring, which keeps keys per uid after the sandbox ends",
    "keyctl": "the kernel keyring",
    "request_key": "the kernel keyring",
    # Looking into or changing other processes, the kernel, or the machine.
    "ptrace": "tracing processes (the probe shares the process: patching it from outside)",
    "process_vm_readv": "reading another process's memory",
    "process_vm_writev": "writing another process's memory",
    "kcmp": "comparing kernel objects of other processes",
    "pidfd_getfd": "stealing another process's file descriptors",
    "bpf": "loading BPF programs into the kernel",
    "perf_event_open": "performance counters: side channels on other sandboxes and the host",
    "userfaultfd": "user page-fault handling, a favourite of kernel exploits",
    "io_uring_setup": "io_uring, a large kernel surface that bypasses per-call filtering",
    "io_uring_enter": "io_uring",
    "io_uring_register": "io_uring",
    "fanotify_init": "watching file access elsewhere on the machine",
    "open_by_handle_at": "opening files by handle, around the mount namespace (the Shocker escape)",
    "name_to_handle_at": "making such handles",
    "kexec_load": "loading a new kernel",
    "kexec_file_load": "loading a new kernel",
    "init_module": "loading kernel modules",
    "finit_module": "loading kernel modules",
    "delete_module": "unloading kernel modules",
    "iopl": "raw I/O port access",
    "ioperm": "raw I/O port access",
    "swapon": "swap files",
    "swapoff": "swap files",
    "reboot": "rebooting",
    "acct": "process accounting to a file",
    "quotactl": "disk quotas",
    "quotactl_fd": "disk quotas",
    "syslog": "reading the kernel log",
    "settimeofday": "the system clock (and so other sandboxes' wall-clock limits)",
    "clock_settime": "the system clock",
    "clock_adjtime": "the system clock",
    "adjtimex": "the system clock",
    "vhangup": "hanging up terminals",
    "lookup_dcookie": "kernel profiling internals",
}

NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000, "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000, "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000, "CLONE_NEWTIME": 0x00000080,
}
"""clone() with any of these makes new namespaces, like unshare: refused with EPERM. clone3() keeps
its flags in memory that a filter cannot read, so it fails with ENOSYS, on which the C library
and every language runtime fall back to clone(), where the flags are checked."""



class SeccompUnavailable(Exception):
    """libseccomp (or pyseccomp) is missing: the sandbox runs without a system-call filter, and says so."""


@functools.cache
def program() -> bytes:
    """The policy as a BPF program for bubblewrap's --seccomp, built once per process."""
    try:
        import pyseccomp as seccomp
    except (ImportError, RuntimeError, OSError) as error:  # RuntimeError: "Unable to find libseccomp"
        raise SeccompUnavailable(f"pyseccomp or libseccomp is missing ({error})") from None
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in REFUSED:
        _refuse(seccomp, rules, name, seccomp.ERRNO(errno.EPERM))
    for flag in NAMESPACE_FLAGS.values():
        _refuse(seccomp, rules, "clone", seccomp.ERRNO(errno.EPERM), seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    _refuse(seccomp, rules, "clone3", seccomp.ERRNO(errno.ENOSYS))
    read_end, write_end = os.pipe()
    try:
        with os.fdopen(write_end, "wb", closefd=False) as pipe:
            rules.export_bpf(pipe)
    finally:
        os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        return pipe.read()


def _refuse(seccomp, rules, name: str, action: int, *args) -> None:
    try:
        number = seccomp.resolve_syscall(seccomp.Arch.NATIVE, name)
    except (OSError, ValueError):
        number = -1
    if number < 0:
        return  # this architecture has no such call (iopl on arm64, say): nothing to refuse
    rules.add_rule(action, number, *args)


def program_fd() -> int:
    """A pipe's read end holding the program, for --seccomp (the runner closes it after start)."""
    data = program()
    read_end, write_end = os.pipe()
    os.write(write_end, data)  # a few KiB, well within a pipe's buffer
    os.close(write_end)
    return read_end
