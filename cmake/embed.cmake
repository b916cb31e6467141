# Embeds a file in C source as a NUL-terminated char array (used for registry.db.sql, so that the
# schema the runner applies is the file itself and the two cannot drift).
#   cmake -DIN=file -DOUT=header.h -DNAME=C_SYMBOL -P embed.cmake
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n    " body "${body}")
get_filename_component(inname ${IN} NAME)
set(text "/* generated from ${inname} by cmake/embed.cmake: do not edit */\nstatic const char ${NAME}[] = {\n    ${body}0x00};\n")
file(WRITE ${OUT} "${text}")
