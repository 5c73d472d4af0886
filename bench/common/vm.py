"""Free page reporting: a VM's guest tells the host which pages it freed (virtio-balloon), and the
host takes them back. The next allocation of such a page is then a host fault (the host finds and
zeroes a page for it), so a run that writes gigabytes right after another freed them can take 3x
the system time of the same run on pages the guest kept (measured on these VMs: 4 x 1 GiB copied
on ext4 in 0.7 s or 2.5 s by the same binary, alternating run to run, whatever the tool). The
runners turn reporting off while they measure, where the kernel offers the switch (the
page_reporting module's order: above the largest free-block order, nothing is reported), and
restore it after."""

import os

ORDER = "/sys/module/page_reporting/parameters/page_reporting_order"
OFF_ORDER = "11"  # above MAX_PAGE_ORDER (10 on x86-64): no free block is ever that large


class PageReportingOff:
    """start() turns reporting off, stop() restores it; `state` says what was done, for the
    report's machine table."""

    def __init__(self):
        self.saved = None
        self.state = "not offered by this kernel (no virtio-balloon page reporting)"

    def start(self):
        if not os.path.exists(ORDER):
            return self
        try:
            with open(ORDER) as f:
                self.saved = f.read().strip()
            with open(ORDER, "w") as f:
                f.write(OFF_ORDER)
            self.state = (f"off during the run (page_reporting_order {self.saved} -> {OFF_ORDER}, "
                          "restored after): freed memory stays with the guest")
        except OSError as e:
            self.saved = None
            self.state = f"left on (could not change {ORDER}: {e.strerror})"
        return self

    def stop(self):
        if self.saved is not None:
            try:
                with open(ORDER, "w") as f:
                    f.write(self.saved)
            except OSError:
                pass
