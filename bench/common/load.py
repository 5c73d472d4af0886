"""The 1-minute load average, sampled while a benchmark runs (every report states it)."""

import threading


class LoadSampler:
    """Samples the 1-minute load average every few seconds while the benchmarks run."""

    def __init__(self):
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            with open("/proc/loadavg") as f:
                self.samples.append(float(f.read().split()[0]))
            self._stop.wait(5)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()
