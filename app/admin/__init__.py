"""School administrators' panels: Flask-AppBuilder CRUD over the school's own rows."""
