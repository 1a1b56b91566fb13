"""Running the module as an operating-system service (the Windows service; Linux uses the systemd unit)."""
