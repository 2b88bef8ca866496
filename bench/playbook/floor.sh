d=$1
true
mkdir -p "$d" && chmod 755 "$d"
printf 'hello\n' > "$d/.hello.tmp" && chmod 644 "$d/.hello.tmp" && mv "$d/.hello.tmp" "$d/hello.txt"
printf 'listen\n' > "$d/.bench.tmp" && mv "$d/.bench.tmp" "$d/bench.conf"
grep -q '^port=' "$d/settings" 2>/dev/null || echo port=8080 >> "$d/settings"
test -e "$d/stamp" || touch "$d/stamp"
test -e "$d/bench.conf"
true
cat "$d/hello.txt" > /dev/null
chmod 644 "$d/hello.txt"
