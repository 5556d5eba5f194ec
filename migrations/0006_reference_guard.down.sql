drop function if exists {{schema}}.reference_guard(boolean, text, text, text);
