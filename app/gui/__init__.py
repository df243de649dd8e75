"""The operator GUI: pymeasure ManagedWindowBase with ST-FMR panels."""
