"""Getting a trained generator out: SavedModel signatures (`saved_model`), TFLite conversion and
checks (`tflite`), versioned exports in TF Serving's layout (`exports`), samples from a run, an
export or a .tflite (`generation`), and clients for TF Serving (`serving`)."""
