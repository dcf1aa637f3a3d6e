"""The process-wide memo of the maps: least recently used evicted, safe when sessions' threads share it."""

from __future__ import annotations

import threading

from geo.maps._recent import Recent


def test_the_least_recently_used_value_goes_first():
    r: Recent[int] = Recent(2)
    r.put("a", 1)
    r.put("b", 2)
    assert r.get("a") == 1  # a is now the most recent
    r.put("c", 3)
    assert (r.get("a"), r.get("b"), r.get("c")) == (1, None, 3)
    r.clear()
    assert r.get("a") is None


def test_threads_sharing_it_never_fail_and_keep_it_bounded():
    r: Recent[int] = Recent(3)
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            for i in range(20_000):
                key = str((i * 7 + seed) % 11)
                if r.get(key) is None:
                    r.put(key, i)
        except BaseException as exc:  # a lost key or a changed-size error from an unguarded OrderedDict
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(r._items) <= 3
