"""Test-suite set-up: notebook kernels started by nbval get the executor's environment."""
import os

from tools.execute import KERNEL_ENV

os.environ.update(KERNEL_ENV)
