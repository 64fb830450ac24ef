"""The staff enrollment pages: the dataset upload form and page, a batch's progress (views, forms), and face
images served privately (image_responses). The readers of uploaded files are recognition.uploads, below services."""
