from mina.cli import main

main()
