# CairnWarnings.cmake -- the warnings every cairn C file is compiled with:
# library, tests, benches, examples and fuzzers alike (STYLE.md, "Build").
# Third-party headers come in through imported targets, which CMake treats
# as system include directories, so cmocka's and msgpack's own headers stay
# quiet while the code that uses their macros is still checked.

set(CAIRN_WARNING_FLAGS
  -Wall
  -Wextra
  -Wpedantic
  -Wshadow
  -Wconversion
  -Wstrict-prototypes
  -Wmissing-prototypes
  -Wvla
  -Wformat=2)
if(CAIRN_WERROR)
  list(APPEND CAIRN_WARNING_FLAGS -Werror)
endif()

if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  add_compile_options(${CAIRN_WARNING_FLAGS})
else()
  message(WARNING "cairn's warning flags are written for gcc and clang; "
    "${CMAKE_C_COMPILER_ID} builds without them")
endif()
