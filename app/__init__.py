"""gradserve's HTTP service: a thin FastAPI layer over the engine (`app.main:app`)."""
