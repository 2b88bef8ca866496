# The same ten steps as bench.yml, as a pyinfra deploy.
from io import StringIO

from pyinfra import host
from pyinfra.facts.files import File
from pyinfra.operations import files, server

directory = f"{host.data.base_dir}/{host.name}"
server.shell(name="1 command", commands=["/bin/true"])
files.directory(name="2 directory", path=directory, mode="755")
files.put(name="3 copy", src=StringIO(f"hello {host.name}\n"), dest=f"{directory}/hello.txt", mode="644")
files.template(name="4 template", src="templates/bench.conf.j2", dest=f"{directory}/bench.conf", mode="644", inventory_hostname=host.name)
files.line(name="5 lineinfile", path=f"{directory}/settings", line="^port=.*", replace="port=8080")
server.shell(name="6 command with creates", commands=[f"test -e {directory}/stamp || touch {directory}/stamp"])
stat = host.get_fact(File, path=f"{directory}/bench.conf")
server.shell(name="8 assert", commands=["true"])
server.shell(name="9 shell", commands=[f"cat {directory}/hello.txt > /dev/null"])
files.file(name="10 file", path=f"{directory}/hello.txt", mode="644")
