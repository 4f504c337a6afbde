"""Tiny models run fastest single-threaded: on a loaded 2-core machine OpenMP spinning makes each op ~50x slower."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
