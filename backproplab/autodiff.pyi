# `backproplab.autodiff` is the top-level `autodiff` package under this name (see __init__.py)
from autodiff import *
