# `backproplab.viz` is the top-level `viz` package under this name (see __init__.py)
from viz import *
