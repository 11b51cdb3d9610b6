from magitui.cli import main

main(prog_name="magitui")
