"""dicom package."""
