import pytest
import torch


@pytest.fixture
def one_thread():
    """Tiny models run as fast on one intra-op thread, and a busy second core then cannot stall every op."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
