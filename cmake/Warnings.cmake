# ds_warnings: one INTERFACE target carrying the project's warning flags; every target links it.
add_library(ds_warnings INTERFACE)
target_compile_options(ds_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-missing-field-initializers -Wno-sign-conversion -Wno-restrict>)
