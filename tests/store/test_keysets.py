"""Key sets give what numpy's set routines give, without importing numpy.ma."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iactcopy.store.index.keysets import (
    difference,
    intersection,
    member,
    symmetric_difference,
    unique,
)

ids = st.lists(st.integers(min_value=-5, max_value=40), max_size=30).map(
    lambda values: np.asarray(values, dtype=np.int64))
names = st.lists(st.sampled_from(["", "a", "b", "data/x.fits", "é"]), max_size=12).map(
    lambda values: np.asarray(values, dtype=str))


@given(ids, ids)
def test_integer_sets_match_numpy(a, b):
    assert np.array_equal(unique(a), np.unique(a))
    assert np.array_equal(member(a, b), np.isin(a, b))
    assert np.array_equal(intersection(a, b), np.intersect1d(a, b))
    assert np.array_equal(difference(a, b), np.setdiff1d(a, b))
    assert np.array_equal(symmetric_difference(a, b), np.setxor1d(a, b))


@given(names, names)
def test_string_sets_match_numpy(a, b):
    assert unique(a).tolist() == np.unique(a).tolist()
    assert member(a, b).tolist() == np.isin(a, b).tolist()
    assert intersection(a, b).tolist() == np.intersect1d(a, b).tolist()
    assert difference(a, b).tolist() == np.setdiff1d(a, b).tolist()
    assert symmetric_difference(a, b).tolist() == np.setxor1d(a, b).tolist()


def test_numpy_ma_is_not_imported():
    ready = subprocess.run([sys.executable, "-c",
                            "import sys, numpy; print('numpy.ma' in sys.modules)"],
                           capture_output=True, text=True, check=True)
    if ready.stdout.strip() == "True":
        pytest.skip("numpy before 2 imports numpy.ma itself")
    probe = ("import sys, numpy as np\n"
             "from iactcopy.store.index.keysets import *\n"
             "a, b = np.array([3, 1, 3]), np.array([1, 2])\n"
             "unique(a); intersection(a, b); difference(a, b); symmetric_difference(a, b)\n"
             "member(a, b); member(np.array(['x', 'y']), np.array(['y'] * 50))\n"
             "print('numpy.ma' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
