# `backproplab.nn` is the top-level `nn` package under this name (see __init__.py)
from nn import *
