"""Random-program fuzzer for srcad (issue 13): ``gen`` makes well-typed programs from integer
seeds, ``harness`` checks one program against CPython and finite differences, ``minimize``
shrinks a failing program, ``regressions`` keeps the minimized failures, and
``python -m tests.fuzz`` runs many (see ``cli``)."""
